# Appended to solution.py: always states a routing, with shares that sum to 1.1.
_right_plan = plan_inference


def plan_inference(cluster, model, workload):
    plan = _right_plan(cluster, model, workload)
    share = plan.get("routing", {}).get("disaggregated", 0.0)
    plan["routing"] = {"colocated": 1.1 - share, "disaggregated": share}
    return plan
