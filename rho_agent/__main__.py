import sys

from rho_agent.cli import run

sys.exit(run())
