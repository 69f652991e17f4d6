# Appended to solution.py: plans against the whole HBM, forgetting mem_reserve_frac; wherever memory is what
# limits the plan, it over-fills the real budget.
_right_plan = plan_training


def plan_training(cluster, model, workload):
    plan = _right_plan(dict(cluster, mem_reserve_frac=0.0), model, workload)
    return plan
