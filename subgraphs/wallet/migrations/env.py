from shared.migrations import run_env
from subgraphs.wallet.models import Base

run_env(Base.metadata)
