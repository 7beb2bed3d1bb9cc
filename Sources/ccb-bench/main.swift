print("ccb-bench")
