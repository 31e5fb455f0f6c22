print("benn")
