"""A rating model in the style of co-attention multimodal recommenders: a reader embedding
meets a book representation computed *from its content* (fused text + cover + tags vectors)
and predicts the rating (trained with MSE in torch).

    r_ui = mu + b_u + c(f_i) + p_u . g(f_i)      g, c: small MLPs over the book vector f_i

Because the book side comes only from content, books nobody has rated are scored like any
other. New readers are folded in by ridge regression of their ratings on g(f_i). After
training, g(F) and c(F) are precomputed, so scoring is numpy only (no torch at serve time).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender, single_thread_blas
from coverstory.recommend.features import ItemFeatures
from coverstory.recommend.svd import ridge_rows


class RatingModel(Recommender):
    name = "rating-model"
    uses_content = True

    def __init__(self, blocks: list[str] | None = None, factors: int = 32, hidden: int = 128,
                 in_dim: int = 64, epochs: int = 10, lr: float = 5e-3, weight_decay: float = 1e-5,
                 user_l2: float = 5.0, batch_size: int = 4096, seed: int = 0):
        self.blocks, self.factors, self.hidden = blocks, int(factors), int(hidden)
        self.in_dim = int(in_dim)
        self.epochs, self.lr, self.weight_decay = int(epochs), float(lr), float(weight_decay)
        self.user_l2, self.batch_size, self.seed = float(user_l2), int(batch_size), int(seed)
        self.threshold = None

    def params(self) -> dict:
        return {"blocks": self.blocks, "factors": self.factors, "hidden": self.hidden,
                "in_dim": self.in_dim,
                "epochs": self.epochs, "lr": self.lr, "weight_decay": self.weight_decay,
                "user_l2": self.user_l2, "batch_size": self.batch_size, "seed": self.seed}

    def _fit(self, X: sp.csr_matrix, items) -> None:
        import torch

        if not isinstance(items, ItemFeatures):
            items = ItemFeatures().add("features", items)
        self.blocks = self.blocks or list(items.blocks)
        F = items.matrix(self.blocks)
        if F.shape[1] > self.in_dim:        # PCA of the fused vector keeps training cheap
            has = np.abs(F).sum(1) > 0
            mu = F[has].mean(0)
            with single_thread_blas():
                Fc = (F[has] - mu).astype(np.float64)
                _, vecs = np.linalg.eigh(Fc.T @ Fc)
            top = vecs[:, ::-1][:, :self.in_dim].astype(np.float32)
            F = np.where(has[:, None], (F - mu) @ top, 0.0).astype(np.float32)
            F /= max(float(np.abs(F).std()), 1e-6) * np.sqrt(F.shape[1])
        torch.manual_seed(self.seed)
        torch.set_num_threads(1)   # tiny net: threads only contend
        n_u, D, d = X.shape[0], F.shape[1], self.factors
        coo = X.tocoo()
        u = torch.as_tensor(coo.row, dtype=torch.long)
        i = torch.as_tensor(coo.col, dtype=torch.long)
        r = torch.as_tensor(coo.data, dtype=torch.float32)
        mu = float(r.mean()) if len(r) else 3.0
        Ft = torch.as_tensor(F)
        net = torch.nn.Sequential(torch.nn.Linear(D, self.hidden), torch.nn.ReLU(),
                                  torch.nn.Dropout(0.1), torch.nn.Linear(self.hidden, d + 1))
        P = torch.nn.Embedding(n_u, d + 1)
        torch.nn.init.normal_(P.weight, 0, 0.01)
        opt = torch.optim.Adam([{"params": net.parameters(), "weight_decay": self.weight_decay},
                                {"params": P.parameters(), "weight_decay": 0.0}], lr=self.lr)
        g = torch.Generator().manual_seed(self.seed)
        n = len(r)
        self.history_ = []
        for _ in range(self.epochs):
            net.train()
            perm = torch.randperm(n, generator=g)
            tot = 0.0
            for a in range(0, n, self.batch_size):
                b = perm[a:a + self.batch_size]
                h = net(Ft[i[b]])                          # [B, d+1]: g(f) and c(f)
                pu = P(u[b])                               # [B, d+1]: p_u and b_u
                pred = mu + pu[:, d] + h[:, d] + (pu[:, :d] * h[:, :d]).sum(1)
                loss = ((pred - r[b]) ** 2).mean()
                reg = 1e-4 * (pu[:, :d] ** 2).sum(1).mean()
                opt.zero_grad()
                (loss + reg).backward()
                opt.step()
                tot += float(loss.detach()) * len(b)
            self.history_.append(tot / max(n, 1))
        net.eval()
        with torch.no_grad():
            H = net(Ft).numpy()
        self.G_ = H[:, :d].astype(np.float32)
        self.c_ = H[:, d].astype(np.float32)
        self.P_ = P.weight.detach().numpy().astype(np.float32)
        self.mu_ = mu
        self.has_ = np.linalg.norm(F, axis=1) > 0

    def can_score(self) -> np.ndarray:
        return self.has_

    def fold_in(self, X: sp.csr_matrix) -> np.ndarray:
        Ga = np.hstack([self.G_, np.ones((len(self.G_), 1), np.float32)]).astype(np.float64)
        return ridge_rows(X, Ga, self.c_.astype(np.float64), self.user_l2, self.mu_).astype(np.float32)

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        P = self.P_[users] if users is not None else self.fold_in(X)
        d = self.factors
        return self.mu_ + P[:, d:d + 1] + self.c_[None, :] + P[:, :d] @ self.G_.T

    def item_vectors(self) -> np.ndarray:
        return self.G_

    def _state(self) -> dict:
        return {"G": self.G_, "c": self.c_, "P": self.P_, "has": self.has_,
                "mu": np.array([self.mu_], np.float32)}

    def _set_state(self, state: dict) -> None:
        self.G_, self.c_, self.P_, self.has_ = state["G"], state["c"], state["P"], state["has"]
        self.mu_ = float(state["mu"][0])
