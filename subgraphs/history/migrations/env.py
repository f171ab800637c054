from shared.migrations import run_env
from subgraphs.history.models import Base

run_env(Base.metadata)
