"""``coverstory train WHAT``: self-supervised cover encoders, text encoders, audio encoders.

``coverstory train ssl --encoder resnet50.random --epochs 2 --limit 3000``
``coverstory train text --arch bilstm-attn --epochs 3``
``coverstory train audio --epochs 5``
``coverstory train fusion ...`` hands over to the fusion module (``build fusion``).
"""

from __future__ import annotations

from coverstory.errors import CommandError

WHAT = ("ssl", "text", "audio", "fusion")


def add_train_arguments(p) -> None:
    p.add_argument("what", choices=WHAT, help="what to train")
    p.add_argument("--encoder", help="ssl: encoder to start from (e.g. resnet50.random)")
    p.add_argument("--epochs", type=int, default=2, help="passes over the training data")
    p.add_argument("--limit", type=int, default=3000, help="ssl/text: items to train on")
    p.add_argument("--image-size", type=int, default=96, help="ssl: input size in pixels")
    p.add_argument("--encode-size", type=int,
                   help="ssl: input size of the saved encoder (default: --image-size)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, help="learning rate (default depends on the model)")
    p.add_argument("--augment", choices=["standard", "phone"], default="standard",
                   help="ssl: 'phone' makes one view a simulated phone photo")
    p.add_argument("--max-minutes", type=float, help="stop early after this many minutes")
    p.add_argument("--arch", default="bilstm-attn",
                   help="text: lstm, bilstm, bigru or bilstm-attn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--method", help="fusion: strategy name")
    p.add_argument("--quick", action="store_true", help="a small slice, for smoke tests")


def train(args) -> dict:
    from coverstory.config import home_dir

    home = home_dir(getattr(args, "home", None))
    if args.what == "ssl":
        from coverstory.train.ssl import train_ssl

        if not args.encoder:
            raise CommandError("train ssl needs --encoder (e.g. resnet50.random, "
                               "efficientnet-lite0.imagenet); see `coverstory encoders`")
        limit = 256 if args.quick else args.limit
        epochs = 1 if args.quick else args.epochs
        try:
            r = train_ssl(home, args.encoder, epochs=epochs, limit=limit,
                          image_size=args.image_size, batch_size=args.batch_size, lr=args.lr,
                          augment=args.augment, seed=args.seed, max_minutes=args.max_minutes,
                          encode_size=getattr(args, "encode_size", None))
        except (ValueError, FileNotFoundError, KeyError) as e:
            raise CommandError(str(e)) from e
        d = r.to_dict()
        d["text"] = (f"trained {r.name} ({r.epochs_done} epochs, {r.steps} steps, "
                     f"{r.seconds:.0f} s; loss per epoch {[round(x, 3) for x in r.losses]}); "
                     f"saved in {r.path}; build its features with "
                     f"`coverstory build features --encoder {r.name}`")
        return d
    if args.what == "text":
        from coverstory.train.text import train_text_encoder

        try:
            r = train_text_encoder(home, arch=args.arch, epochs=1 if args.quick else args.epochs,
                                   limit=400 if args.quick else None, seed=args.seed,
                                   lr=args.lr, max_minutes=args.max_minutes)
        except (ValueError, FileNotFoundError) as e:
            raise CommandError(str(e)) from e
        return r
    if args.what == "audio":
        from coverstory.train.audio import train_audio_encoder

        return train_audio_encoder(home, epochs=args.epochs, seed=args.seed)
    # fusion lives with the fusion engineer's code
    try:
        from coverstory.fusion.commands import build_fusion
    except ImportError as e:
        raise CommandError(f"fusion training is not available in this build ({e})") from e
    return build_fusion(args)
