import sys

from rho_agent.cli.app import run

sys.exit(run())
