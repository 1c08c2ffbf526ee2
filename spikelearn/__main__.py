"""``python -m spikelearn`` runs the command line."""

from spikelearn.cli import main

main()
