from shared.migrations import run_env
from subgraphs.transactions.models import Base

run_env(Base.metadata)
