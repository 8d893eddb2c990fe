"""Local emulators of the providers' wire protocols, for tests and the demo.

Rule: nothing here imports ``kessai.providers`` (or Django). Each emulator is written from its
protocol note alone, so a misreading cannot hide in both the adapter and the emulator that tests it.
"""
