"""cosim.netlist"""
