"""Training the seed's mel CNN (``deepfake train audio --arch melcnn``): the one MelCNN training path.

The network, its checkpoint format and its importer live in ``shared.models.melcnn``; the samples come
from any reader (ASVspoof 2019 LA, manifests, labelled folders, several mixed: ``shared.training.data``),
the windows and the format/sample-rate augmentation from ``shared.training.audio_common``.

Recipe: random 64,600-sample windows (short clips tiled), BCE with logits, spoof examples weighted by
the class ratio (``pos_weight``: bona fide is ~10 % of LA) instead of resampling, so every file is seen
once per epoch; Adam (lr 1e-3, weight decay 1e-4, batch 32 when not given), ReduceLROnPlateau, early
stopping on the validation loss (``shared.training.loop``). The best checkpoint is ``melcnn_best.pth``
(``save_melcnn_checkpoint``), converted to ``model/`` by the same importer as ``deepfake audio import``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.base import Sample
from shared.errors import InvalidArgument
from shared.training.audio_common import AudioTrainOptions, WaveformDataset, checked_splits, finish_audio_run
from shared.training.loop import Objective, TrainConfig, pick_device, prepare_process, train

BEST_FILE = "melcnn_best.pth"
DEFAULT_BATCH_SIZE = 32
DEFAULT_LR = 1e-3
WEIGHT_DECAY = 1e-4


def train_melcnn(train_samples: list[Sample], val_samples: list[Sample], options: AudioTrainOptions) -> dict[str, Any]:
    """Train the MelCNN with early stopping on ``val_samples``; returns a summary for the command to print.

    Args:
        train_samples, val_samples: labelled clips (1 = fake); those that do not decode are left out and
            listed in the summary's ``unreadable_files``.
        options: ``options.init`` may be a MelCNN checkpoint file to continue from (there are no
            published weights); ``options.arch`` is not read.

    Returns:
        The loop's summary (checkpoint, best epoch, validation loss, epochs run, early stop) plus the
        file counts, the device and, with ``options.export``, the model folder.

    Raises:
        InvalidArgument: ``init`` is not a file, a split without both classes, or a run folder that
            already holds another run.
    """
    import torch

    from shared.models.melcnn import WINDOW_SAMPLES, MelCNN, save_melcnn_checkpoint

    init = options.init if options.init and options.init != "none" else None
    if init is not None and not Path(init).is_file():
        raise InvalidArgument("--init for melcnn must be a MelCNN checkpoint file (there are no published weights)")
    prepare_process(options)
    data = checked_splits(train_samples, val_samples, options.progress)
    device = pick_device(options.device)
    model = MelCNN()
    if init is not None:
        from shared.models.checkpoint import load_state_dict_strict, read_checkpoint

        load_state_dict_strict(model, read_checkpoint(Path(init), entry="state_dict"), source=init)
    batch = options.batch_size or DEFAULT_BATCH_SIZE
    lr = options.lr or DEFAULT_LR
    train_set = WaveformDataset(data.train, length=WINDOW_SAMPLES, train=True, augment_clips=options.augment)
    val_set = WaveformDataset(data.val, length=WINDOW_SAMPLES, train=False, augment_clips=False)
    generator = torch.Generator().manual_seed(options.seed)
    train_loader: Any = torch.utils.data.DataLoader(train_set, batch_size=batch, shuffle=True, generator=generator,  # type: ignore[arg-type]
                                                    num_workers=options.workers)
    val_loader: Any = torch.utils.data.DataLoader(val_set, batch_size=batch, shuffle=False,  # type: ignore[arg-type]
                                                  num_workers=options.workers)
    labels = np.array([s.label for s in data.train])
    pos_weight = torch.tensor([(labels == 0).sum() / max((labels == 1).sum(), 1)], dtype=torch.float32)
    objective = Objective.fake_logit(pos_weight=pos_weight.to(device))

    def save_best(m: Any, path: Path, info: dict[str, Any]) -> Path:
        return save_melcnn_checkpoint(
            m, path, epoch=info.get("epoch"), validation_loss=info.get("val_loss"),
            validation_auc=info.get("val_auc"), validation_eer=info.get("val_eer"),
            training_data=options.training_data or None,
        )

    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(1, options.patience // 2))
    # what a resumed run must match (the same keys as before the two MelCNN paths became one, so older
    # run folders still resume)
    describe = {"kind": "audio", "arch": "MelCNN", "lr": lr, "batch_size": batch, "augment": options.augment,
                "train_files": len(data.train), "val_files": len(data.val)}
    result = train(
        model, train_loader=train_loader, val_loader=val_loader, objective=objective, optimizer=optimizer,
        scheduler=scheduler, save_best=save_best, best_name=BEST_FILE, device=device, describe=describe,
        config=TrainConfig.from_options(options),
    )
    summary = {**result.summary(), **data.counts(), "device": str(device)}
    return finish_audio_run(result, options, summary, arch="MelCNN", init=init, title="MelCNN: training")
