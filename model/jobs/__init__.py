"""Work that runs in a worker process: the job engine and its queue, training and teaching work,
estimates and progress."""
