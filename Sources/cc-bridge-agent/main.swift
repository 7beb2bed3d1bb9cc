print("cc-bridge-agent")
