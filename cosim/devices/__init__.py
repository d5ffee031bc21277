"""cosim.devices"""
