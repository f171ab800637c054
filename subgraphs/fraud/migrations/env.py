from shared.migrations import run_env
from subgraphs.fraud.models import Base

run_env(Base.metadata)
