# Appended to solution.py: the last stage loses a layer, so the split no longer sums to the model.
_right_plan = plan_training


def plan_training(cluster, model, workload):
    plan = _right_plan(cluster, model, workload)
    plan["hetero_pipeline_layer_split"][-1] -= 1
    return plan
