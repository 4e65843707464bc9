"""Pure foundations for explanations and evaluator calibration (METHODS.md §5).

Modules: ``shapley`` (exact Shapley, leave-one-out, §5.1/§5.4), ``contextcite`` (ablation
surrogate with coordinate-descent LASSO, §5.5), ``lexical`` (ROUGE-1, ROUGE-L, cosine and
per-sentence support, §5.6), ``counterfactual`` (minimal necessary/sufficient chunk sets, §5.7),
``agreement`` (confusion matrix and Cohen's kappa, §5.9) and ``records`` (hash chain for
immutable explanation records). No I/O.
"""
