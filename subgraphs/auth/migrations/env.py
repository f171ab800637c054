from shared.migrations import run_env
from subgraphs.auth.models import Base

run_env(Base.metadata)
