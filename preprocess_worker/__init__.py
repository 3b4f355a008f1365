"""The preprocess workers: RQ jobs that decode, detect and crop faces, extract audio, and call the
inference services; ``python -m preprocess_worker`` starts one worker process."""
