# Appended to solution.py: plans for the whole cluster as if nothing had happened.
def replan_after_failure(cluster, model, workload, old_plan, event):
    best, ev = reference_plan(cluster, model, workload)
    plan = _claimed(best, ev)
    plan["resharded"] = resharded_stages(old_plan, plan)
    return plan
