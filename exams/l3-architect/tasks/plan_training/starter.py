"""plan_training: return a training plan for the given cluster, model and workload.

Replace this naive plan (one mesh on the first group, no pipeline, made-up claims) with your own planner.
"""


def plan_training(cluster: dict, model: dict, workload: dict) -> dict:
    group = cluster["node_groups"][0]
    return {
        "meshes": [{"group": group["id"], "tp": group["devices_per_node"], "cp": 1, "ep": 1, "dp": 1, "pp": 1}],
        "hetero_pipeline_layer_split": [model["layers"]],
        "micro_batch": 1,
        "distributed_optimizer": True,
        "recompute": "selective",
        "sequence_parallel": True,
        "claimed": {"mem_gib_per_stage": [0.0], "iter_s": 0.0, "tokens_per_s": 0.0},
    }
