"""localcloud"""
