"""The query planner's stages, each in its own module (supergraph/planner.py is the entry point):

- collect.py: which fields of the client's selection apply to a type (fragments, @skip/@include);
- choose.py: which subgraph serves a field (local fields, scores, keys, jump candidates);
- finalise.py: the operation text of each fetch group, the dependency check, the QueryPlan.

What they share is explicit: context.py (the run's inputs, never changed).
"""
