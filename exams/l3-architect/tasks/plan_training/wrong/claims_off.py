# Appended to solution.py: the right plan, but the stated throughput is 5% optimistic.
_right_plan = plan_training


def plan_training(cluster, model, workload):
    plan = _right_plan(cluster, model, workload)
    plan["claimed"]["tokens_per_s"] *= 1.05
    return plan
