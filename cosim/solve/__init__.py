"""cosim.solve"""
