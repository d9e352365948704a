"""Channel statistics (mean, std) of the training splits, on [0, 1] images: what the transforms normalise with and
what a model's ``pretrained_cfg`` tells other tools."""

CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR100_STATS = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
IMAGENET_STATS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
DIGITS_STATS = ((0.3054, 0.3054, 0.3054), (0.3186, 0.3186, 0.3186))
FAKE_STATS = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
SVRT_STATS = ((0.04, 0.04, 0.04), (0.14, 0.14, 0.14))  # grey outlines on black, about 3-4% of the pixels lit
