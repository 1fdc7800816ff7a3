"""Programme monitor: parliamentary documents to questions, answers, commitments and progress."""
