"""Standards checks. Each family keeps network retrieval (``retrieve``) apart from pure evaluation
(``evaluate``): evaluation takes recorded facts and a policy, and never touches the network."""
