"""The query planner's stages, each in its own module (supergraph/planner.py is the entry point):

- collect.py: which fields of the client's selection apply to a type (fragments, @skip/@include);
- choose.py: which subgraph serves a field (local fields, scores, keys, jump candidates);
- roots.py: where the walk starts (root fields and mutation phases, or a deferred fragment's entities);
- walk.py: the walk itself, field by field: local fields, `_entities` jumps, `@requires`, interface
  objects, re-fetching a parent, and the search bounds;
- fetch_groups.py: the fetch groups made so far and when one is reused (merging fetches);
- requirements.py: what an entity fetch's representations carry (keys, `@requires` inputs);
- finalise.py: the operation text of each fetch group, the dependency check, the QueryPlan.

What they share is explicit: context.py (the run's inputs, never changed, and the Scope each step
of the walk is handed).
"""
