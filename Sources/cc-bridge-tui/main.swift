print("cc-bridge-tui")
