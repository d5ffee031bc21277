"""cosim.nn"""
