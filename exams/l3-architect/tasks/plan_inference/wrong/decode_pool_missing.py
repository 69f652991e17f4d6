# Appended to solution.py: a prefill/decode split whose decode instances are all labelled prefill.
_right_plan = plan_inference


def plan_inference(cluster, model, workload):
    plan = _right_plan(cluster, model, workload)
    for entry in plan["instances"]:
        if entry["role"] == "decode":
            entry["role"] = "prefill"
    return plan
