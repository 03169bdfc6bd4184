print("weightkit")
