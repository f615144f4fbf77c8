"""A PyTorch user's MNIST training script, running on ember.

Everything below the import block is plain PyTorch: a Dataset and DataLoader, an
``nn.Module`` with conv and linear layers, ``F.log_softmax`` with ``F.nll_loss``,
Adam with a StepLR schedule, train/eval modes, ``torch.no_grad()`` and
``torch.save(model.state_dict(), ...)``. Swap the marked import block for

    import torch
    import torch.nn as nn
    ...

and the same file trains with PyTorch (``tests/test_pytorch_style_script.py`` runs it
both ways). The data are read with NumPy from the files in ``../shared/data``:
``mnist_5k.csv.gz`` (5,000 training digits) and the official test files.

    python examples/mnist_pytorch_style.py --data ../shared/data --epochs 3
"""

import argparse
import gzip
import time
from pathlib import Path

import numpy as np

# ---- begin imports: the only lines that differ from a PyTorch script ----
import ember as torch
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim
from ember.optim.lr_scheduler import StepLR
from ember.utils.data import DataLoader, Dataset

# ---- end imports ----

MEAN, STD = 0.1307, 0.3081


def read_csv_digits(path, limit=None):
    """Rows of 784 pixel values then the label -> uint8 images (N, 28, 28), int64 labels (N,)."""
    rows = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    if limit is not None:  # evenly spaced rows: the file is sorted by label
        rows = rows[np.arange(limit) * len(rows) // limit]
    return rows[:, :784].astype(np.uint8).reshape(-1, 28, 28), rows[:, 784]


def read_idx(path):
    """An official MNIST IDX file (gzip) -> NumPy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Digits(Dataset):
    """Images as normalised float tensors (1, 28, 28) and labels as int64 scalars."""

    def __init__(self, images, labels):
        x = torch.from_numpy(images.astype(np.float32) / 255.0)
        self.images = ((x - MEAN) / STD).unsqueeze(1)
        self.labels = torch.from_numpy(labels.astype(np.int64))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 5 * 5, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 16, 13, 13)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (N, 32, 5, 5)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % args.log_interval == 0:
            seen = batch_idx * train_loader.batch_size + len(data)
            print(f"Train Epoch: {epoch} [{seen}/{len(train_loader.dataset)}]\tLoss: {loss.item():.6f}")
    return sum(losses) / len(losses)


def test(model, device, test_loader):
    model.eval()
    test_loss = 0.0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    n = len(test_loader.dataset)
    test_loss /= n
    print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{n} ({100.0 * correct / n:.1f}%)")
    return correct / n


def main(argv=None):
    parser = argparse.ArgumentParser(description="MNIST, PyTorch style")
    parser.add_argument("--data", default="../shared/data", help="folder with mnist_5k.csv.gz and mnist/")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.7, help="learning-rate decay per epoch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=20)
    parser.add_argument("--train-limit", type=int, default=None, help="use this many training digits")
    parser.add_argument("--test-limit", type=int, default=None, help="use the first N test digits")
    parser.add_argument("--save-model", default=None, help="write the trained state dict here")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    data = Path(args.data)
    train_set = Digits(*read_csv_digits(data / "mnist_5k.csv.gz", args.train_limit))
    test_images = read_idx(data / "mnist" / "t10k-images-idx3-ubyte.gz")[: args.test_limit]
    test_labels = read_idx(data / "mnist" / "t10k-labels-idx1-ubyte.gz")[: args.test_limit]
    test_set = Digits(test_images, test_labels)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size)

    model = Net().to(device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    history = {"train_loss": [], "test_accuracy": [], "lr": []}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["train_loss"].append(train(args, model, device, train_loader, optimizer, epoch))
        history["test_accuracy"].append(test(model, device, test_loader))
        scheduler.step()
    print(f"{args.epochs} epochs in {time.perf_counter() - start:.1f} s")

    if args.save_model:
        torch.save(model.state_dict(), args.save_model)
        reloaded = Net()
        reloaded.load_state_dict(torch.load(args.save_model))
        assert test(reloaded, device, test_loader) == history["test_accuracy"][-1]
    history["model"] = model
    return history


if __name__ == "__main__":
    main()
