"""cosim.sim"""
