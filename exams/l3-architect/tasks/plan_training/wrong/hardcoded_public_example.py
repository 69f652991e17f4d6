# Appended to solution.py: ignores its inputs and returns plan 70B-B of the public worked example.
def plan_training(cluster, model, workload):
    return {
        "meshes": [
            {"group": "g0", "tp": 8, "cp": 1, "ep": 1, "dp": 1, "pp": 2},
            {"group": "g1", "tp": 8, "cp": 1, "ep": 1, "dp": 1, "pp": 4},
        ],
        "hetero_pipeline_layer_split": [15, 15, 13, 13, 12, 12],
        "micro_batch": 1,
        "distributed_optimizer": True,
        "recompute": "selective",
        "sequence_parallel": True,
        "claimed": {"mem_gib_per_stage": [39.4, 36.9, 30.2, 28.5, 24.7, 23.7], "iter_s": 191.84, "tokens_per_s": 10932},
    }
