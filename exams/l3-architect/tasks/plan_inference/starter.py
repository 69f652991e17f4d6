"""plan_inference: return the serving instances for the given cluster, model and workload.

Replace this naive allocation (one instance of the first group at the smallest tensor-parallel degree that holds
the model) with your own.
"""


def plan_inference(cluster: dict, model: dict, workload: dict) -> dict:
    group = cluster["node_groups"][0]
    return {"instances": [{"group": group["id"], "tp": 8, "count": 1}]}
