# Appended to solution.py: the right plan, but it claims that nothing is resharded.
_right_plan = replan_after_failure


def replan_after_failure(cluster, model, workload, old_plan, event):
    plan = _right_plan(cluster, model, workload, old_plan, event)
    plan["resharded"] = []
    return plan
