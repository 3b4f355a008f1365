"""``deepfake train audio --arch melcnn`` on any dataset (the model, its checkpoint format and its
importer live in ``shared.models.melcnn``; its ``train_melcnn`` is the ASVspoof-only library entry).

Differences from ``train_melcnn``: the samples come from any reader (manifests, labelled folders,
several datasets mixed), and training clips get the format/sample-rate augmentation of
``shared.training.audio`` so the network cannot key on how a file was stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.base import Sample
from shared.errors import InvalidArgument


def train_melcnn_run(train_samples: list[Sample], val_samples: list[Sample], options: Any) -> dict[str, Any]:
    import torch

    from shared.evaluation.plots import plot_training_curves
    from shared.models.melcnn import BEST_FILE, MODEL_DIR, WINDOW_SAMPLES, MelCNN, save_melcnn_checkpoint
    from shared.training.audio import WaveformDataset, readable
    from shared.training.loop import TrainConfig, pick_device, seed_everything, train

    if options.init and options.init != "none":
        if not Path(options.init).is_file():
            raise InvalidArgument("--init for melcnn must be a MelCNN checkpoint file (there are no published weights)")
    seed_everything(options.seed)
    train_samples, bad_train = readable(train_samples, options.progress)
    val_samples, bad_val = readable(val_samples, options.progress)
    for name, samples in (("training", train_samples), ("validation", val_samples)):
        if {s.label for s in samples} != {0, 1}:
            raise InvalidArgument(f"the {name} split needs real and fake clips")
    device = pick_device(options.device)
    model = MelCNN()
    if options.init and options.init != "none":
        from shared.models.checkpoint import load_state_dict_strict, read_checkpoint

        load_state_dict_strict(model, read_checkpoint(Path(options.init), entry="state_dict"), source=options.init)
    batch = options.batch_size or 32
    lr = options.lr or 1e-3
    train_set = WaveformDataset(train_samples, length=WINDOW_SAMPLES, train=True, augment_clips=options.augment)
    val_set = WaveformDataset(val_samples, length=WINDOW_SAMPLES, train=False, augment_clips=False)
    generator = torch.Generator().manual_seed(options.seed)
    train_loader: Any = torch.utils.data.DataLoader(train_set, batch_size=batch, shuffle=True, generator=generator,  # type: ignore[arg-type]
                                               num_workers=options.workers)
    val_loader: Any = torch.utils.data.DataLoader(val_set, batch_size=batch, shuffle=False, num_workers=options.workers)  # type: ignore[arg-type]
    labels = np.array([s.label for s in train_samples])
    pos_weight = torch.tensor([(labels == 0).sum() / max((labels == 1).sum(), 1)], dtype=torch.float32)
    bce = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight.to(device))

    def loss_fn(out: Any, y: Any) -> Any:
        return bce(out.reshape(-1), y.float())

    def save_best(m: Any, path: Path, info: dict[str, Any]) -> Path:
        return save_melcnn_checkpoint(
            m, path, epoch=info.get("epoch"), validation_loss=info.get("val_loss"),
            validation_auc=info.get("val_auc"), validation_eer=info.get("val_eer"),
            training_data=options.training_data or None,
        )

    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(1, options.patience // 2))
    describe = {"kind": "audio", "arch": "MelCNN", "lr": lr, "batch_size": batch, "augment": options.augment,
                "train_files": len(train_samples), "val_files": len(val_samples)}
    result = train(
        model, train_loader=train_loader, val_loader=val_loader, loss_fn=loss_fn,
        to_scores=lambda out: torch.sigmoid(out.reshape(-1)), optimizer=optimizer, scheduler=scheduler,
        save_best=save_best, best_name=BEST_FILE, device=device, describe=describe,
        config=TrainConfig.from_options(options),
    )
    summary: dict[str, Any] = {
        **result.summary(), "train_files": len(train_samples), "val_files": len(val_samples),
        "unreadable_files": bad_train + bad_val, "device": str(device),
    }
    if options.export:
        from shared.modelcard import ModelCard
        from shared.models.melcnn import import_checkpoint

        model_dir = Path(options.out_dir) / MODEL_DIR
        import_checkpoint("MelCNN", result.best_checkpoint, model_dir)
        card = ModelCard.load(model_dir)
        card.model_copy(update={"name": f"MelCNN_{Path(options.out_dir).name}"}).save(model_dir)
        summary["model_dir"] = str(model_dir)
    plot_training_curves(result.history, Path(options.out_dir) / "training_curves.png", title="MelCNN: training")
    return summary
