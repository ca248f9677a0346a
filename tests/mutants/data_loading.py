"""Plausible wrong answers for solutions/02_data_loading/data_loading.ipynb:
grade_id of the solution cell -> {label: code that replaces the whole cell}.
Every one of them must lose points."""

_DATASET_HEAD = '''class FashionDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform
'''
_DATASET_LEN = '''
    def __len__(self):
        return len(self.images)
'''
_DATASET_GET = '''
    def __getitem__(self, idx):
        image = Image.fromarray(self.images[idx].numpy())
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[idx])
'''

MUTANTS = {
    "channel_mean_std": {
        # the tutorial's calculate_dataset_stats: average of per-image stds
        "mean_of_per_image_std": '''
def channel_mean_std(loader):
    means, stds = [], []
    for images, _ in loader:
        means.append(images.double().mean(dim=(2, 3)))
        stds.append(images.double().std(dim=(2, 3), correction=0))
    return torch.cat(means).mean(0), torch.cat(stds).mean(0)
''',
        "sample_std_n_minus_1": '''
def channel_mean_std(loader):
    x = torch.cat([images.double() for images, _ in loader])
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))
''',
        "average_of_batch_stats": '''
def channel_mean_std(loader):
    means, stds = [], []
    for images, _ in loader:
        x = images.double()
        means.append(x.mean(dim=(0, 2, 3)))
        stds.append(x.std(dim=(0, 2, 3), correction=0))
    return torch.stack(means).mean(0), torch.stack(stds).mean(0)
''',
        "pooled_within_batch_variance": '''
def channel_mean_std(loader):
    count, total, within = 0, 0.0, 0.0
    for images, _ in loader:
        x = images.double()
        n = x.shape[0] * x.shape[2] * x.shape[3]
        count += n
        total = total + x.sum(dim=(0, 2, 3))
        within = within + x.var(dim=(0, 2, 3), correction=0) * n
    return total / count, (within / count).sqrt()
''',
        "all_channels_together": '''
def channel_mean_std(loader):
    x = torch.cat([images.double() for images, _ in loader])
    return x.mean().expand(x.shape[1]), x.std(correction=0).expand(x.shape[1])
''',
        "first_batch_only": '''
def channel_mean_std(loader):
    for images, _ in loader:
        x = images.double()
        return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3), correction=0)
''',
        "returns_lists": """
def channel_mean_std(loader):
    count, total, total_sq = 0, 0.0, 0.0
    for images, _ in loader:
        x = images.double()
        count += x.shape[0] * x.shape[2] * x.shape[3]
        total = total + x.sum(dim=(0, 2, 3))
        total_sq = total_sq + (x * x).sum(dim=(0, 2, 3))
    mean = total / count
    std = (total_sq / count - mean ** 2).clamp_min(0).sqrt()
    return mean.tolist(), std.tolist()
""",
        "squares_in_place": """
def channel_mean_std(loader):
    count, total, total_sq = 0, 0.0, 0.0
    for images, _ in loader:
        count += images.shape[0] * images.shape[2] * images.shape[3]
        total = total + images.double().sum(dim=(0, 2, 3))
        total_sq = total_sq + images.pow_(2).double().sum(dim=(0, 2, 3))
    mean = total / count
    std = (total_sq / count - mean ** 2).clamp_min(0).sqrt()
    return mean, std
""",
    },
    "random_horizontal_flip": {
        "one_coin_for_the_batch": '''
def random_horizontal_flip(x, p, generator):
    if torch.rand(1, generator=generator).item() < p:
        return x.flip(-1)
    return x.clone()
''',
        "vertical_flip": '''
def random_horizontal_flip(x, p, generator):
    flip = torch.rand(x.shape[0], generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-2), x)
''',
        "flips_with_probability_1_minus_p": '''
def random_horizontal_flip(x, p, generator):
    flip = torch.rand(x.shape[0], generator=generator) > p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)
''',
        "ignores_the_generator": '''
def random_horizontal_flip(x, p, generator):
    flip = torch.rand(x.shape[0]) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)
''',
        "modifies_the_input_in_place": '''
def random_horizontal_flip(x, p, generator):
    flip = torch.rand(x.shape[0], generator=generator) < p
    x[flip] = x[flip].flip(-1)
    return x
''',
        "torchvision_v2_on_the_batch": '''
from torchvision.transforms import v2
def random_horizontal_flip(x, p, generator):
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
    return v2.RandomHorizontalFlip(p)(x)
''',
        "own_fixed_generator": """
def random_horizontal_flip(x, p, generator):
    flip = torch.rand(x.shape[0], generator=torch.Generator().manual_seed(0)) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)
""",
    },
    "random_crop": {
        "one_offset_for_the_batch": '''
def random_crop(x, padding, generator):
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy, dx = torch.randint(0, 2 * padding + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy:dy + h, dx:dx + w]
''',
        "off_by_one_range": '''
def random_crop(x, padding, generator):
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding, (n,), generator=generator) if padding else torch.zeros(n, dtype=torch.long)
    dx = torch.randint(0, 2 * padding, (n,), generator=generator) if padding else torch.zeros(n, dtype=torch.long)
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
''',
        "forgets_padding": '''
def random_crop(x, padding, generator):
    return x.clone()
''',
        "reflect_padding": '''
def random_crop(x, padding, generator):
    n, c, h, w = x.shape
    padded = F.pad(x.float(), (padding,) * 4, mode="reflect").to(x.dtype) if padding else x
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
''',
        "same_offset_for_rows_and_columns": '''
def random_crop(x, padding, generator):
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    d = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    return torch.stack([padded[i, :, d[i]:d[i] + h, d[i]:d[i] + w] for i in range(n)])
''',
        "height_and_width_swapped": '''
def random_crop(x, padding, generator):
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    return torch.stack([padded[i, :, dy[i]:dy[i] + w, dx[i]:dx[i] + h] for i in range(n)])
''',
        "offsets_from_the_global_rng": '''
def random_crop(x, padding, generator):
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,))
    dx = torch.randint(0, 2 * padding + 1, (n,))
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
''',
        "own_fixed_generator": """
def random_crop(x, padding, generator):
    n, c, h, w = x.shape
    own = torch.Generator().manual_seed(0)
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=own)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=own)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
""",
    },
    "FashionDataset": {
        "len_off_by_one": _DATASET_HEAD + '''
    def __len__(self):
        return len(self.images) - 1
''' + _DATASET_GET,
        "returns_tensor_not_pil": _DATASET_HEAD + _DATASET_LEN + '''
    def __getitem__(self, idx):
        image = self.images[idx]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[idx])
''',
        "ignores_transform": _DATASET_HEAD + _DATASET_LEN + '''
    def __getitem__(self, idx):
        return Image.fromarray(self.images[idx].numpy()), int(self.labels[idx])
''',
        "label_as_tensor": _DATASET_HEAD + _DATASET_LEN + '''
    def __getitem__(self, idx):
        image = Image.fromarray(self.images[idx].numpy())
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[idx]
''',
        "transposed_image": _DATASET_HEAD + _DATASET_LEN + '''
    def __getitem__(self, idx):
        image = Image.fromarray(self.images[idx].T.numpy())
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[idx])
''',
        "adds_channel_in_place": """
class FashionDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images = images.unsqueeze_(1)  # (N, 1, 28, 28), like a batch
        self.labels, self.transform = labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, idx):
        image = Image.fromarray(self.images[idx, 0].numpy())
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[idx])
""",
    },
}

# Right answers written differently from the solution: each must keep every point.
CORRECT = {
    "random_horizontal_flip": {
        "index_the_columns_backwards": """
def random_horizontal_flip(x, p, generator):
    flip = torch.rand(len(x), generator=generator) < p
    out = x.clone()
    out[flip] = x[flip][..., torch.arange(x.shape[-1] - 1, -1, -1)]
    return out
""",
    },
}
