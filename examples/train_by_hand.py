"""The training loop written out by hand: batch → forward → loss → backward → clip → step.

Run: python examples/train_by_hand.py   (about 2 seconds on the shipped 8x8 digits)
"""

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, load_digits, train_val_split

cr.manual_seed(0)
x, y = load_digits()  # (1797, 64) pixel values 0..16, labels 0..9
x_train, y_train, x_test, y_test = train_val_split(x, y, val_fraction=0.2, seed=0)
x_train, x_test = x_train / 16, x_test / 16  # scale inputs to [0, 1]

model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))  # He init
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

for epoch in range(20):
    for xb, yb in DataLoader(x_train, y_train, batch_size=32, seed=epoch):
        logits = model(cr.tensor(xb))  # forward: (32, 64) -> (32, 10)
        loss = loss_fn(logits, yb)  # softmax cross-entropy, averaged over the batch
        optimizer.zero_grad()  # gradients accumulate: clear last step's
        loss.backward()  # the chain rule, layer by layer, into every .grad
        optim.clip_grad_norm_(model.parameters(), max_norm=5.0)  # against exploding gradients
        optimizer.step()  # w <- w - lr * velocity
    with cr.no_grad():
        accuracy = (model(cr.tensor(x_test)).argmax(axis=1) == y_test).mean()
    print(f"epoch {epoch + 1:2d}  loss {loss.item():.4f}  test accuracy {accuracy:.3f}")
