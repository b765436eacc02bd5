"""`python -m netvigil.cli` runs the `netvigil` command."""

from netvigil.cli.main import main

main()
