"""The co-attention arithmetic on the 3-d example of the co-attention article, by hand.

t' = [0.3, 0.7, 0.1], v' = [0.5, 0.2, 0.8] as three 1-d tokens, scale 1.
S = t' v'^T = [[0.15, 0.06, 0.24], [0.35, 0.14, 0.56], [0.05, 0.02, 0.08]].
Row 0 of A_t2v: exp(0.15)=1.161834, exp(0.06)=1.061837, exp(0.24)=1.271249, sum 3.494920
  -> [0.332435, 0.303823, 0.363742].
Row 0 of A_v2t (= column 0 of S): exp(0.15)=1.161834, exp(0.35)=1.419068, exp(0.05)=1.051271,
  sum 3.632173 -> [0.319873, 0.390694, 0.289433].
t_fused[0] = 0.3 + 0.319873*0.5 + 0.390694*0.2 + 0.289433*0.8 = 0.3 + 0.469622 = 0.769622.
v_fused[0] = 0.5 + A_t2v[0,0]*0.3 + A_t2v[1,0]*0.7 + A_t2v[2,0]*0.1
           = 0.5 + 0.332435*0.3 + 0.328487*0.7 + 0.333233*0.1 = 0.5 + 0.362995 = 0.862995.
(The article's printed matrices are not row-stochastic; these are the correct values.)
"""

import torch

from coverstory.fusion.strategies.coattention import coattend


def test_coattention_worked_example():
    t = torch.tensor([0.3, 0.7, 0.1]).view(3, 1)
    v = torch.tensor([0.5, 0.2, 0.8]).view(3, 1)
    t_f, v_f, a_t2v, a_v2t = coattend(t, v, scale=1.0)
    assert torch.allclose(a_t2v[0], torch.tensor([0.332435, 0.303823, 0.363742]), atol=1e-5)
    assert torch.allclose(a_v2t[0], torch.tensor([0.319873, 0.390694, 0.289433]), atol=1e-5)
    assert torch.allclose(a_t2v.sum(1), torch.ones(3)) and torch.allclose(a_v2t.sum(1),
                                                                          torch.ones(3))
    assert abs(float(t_f[0, 0]) - 0.769622) < 1e-5
    assert abs(float(v_f[0, 0]) - 0.862995) < 1e-5
    # the other entries, same arithmetic
    assert torch.allclose(t_f.view(-1), torch.tensor([0.769622, 1.187928, 0.551229]), atol=1e-5)
    assert torch.allclose(v_f.view(-1), torch.tensor([0.862995, 0.509872, 1.227134]), atol=1e-5)


def test_coattention_batched_matches_unbatched():
    g = torch.Generator().manual_seed(0)
    t, v = torch.randn(4, 5, 3, generator=g), torch.randn(4, 5, 3, generator=g)
    tb, vb, _, _ = coattend(t, v, 0.5)
    for i in range(4):
        ti, vi, _, _ = coattend(t[i], v[i], 0.5)
        assert torch.allclose(tb[i], ti) and torch.allclose(vb[i], vi)
