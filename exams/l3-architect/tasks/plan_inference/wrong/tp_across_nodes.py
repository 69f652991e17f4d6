# Appended to solution.py: merges the first two instances of a group into one spanning more than a node.
_right_plan = plan_inference


def plan_inference(cluster, model, workload):
    plan = _right_plan(cluster, model, workload)
    plan["instances"][0]["tp"] *= 16
    return plan
