"""The reference tutorial's AlexNetModel for 32x32 CIFAR-10, layer for layer
(../shared/reference/000_8a9cc04b05e41119.txt). torchbridge's
src/models/alexnet.ts must match it: parameters, state-dict keys, seeded
initialisation and print text."""
import torch.nn as nn


class AlexNetModel(nn.Module):
    def __init__(self, **kwargs):
        super(AlexNetModel, self).__init__(**kwargs)
        # input:3x32x32, output:64*15*15
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=4, stride=2),
            nn.ReLU(True)
        )
        # input:64*15*15, output: 64*14*14
        self.max_pool1 = nn.MaxPool2d(kernel_size=2, stride=1)
        # input: 64*14*14 output:256*14*14
        self.conv2 = nn.Sequential(
            nn.Conv2d(64, 256, kernel_size=3, padding=1),
            nn.ReLU(True)
        )
        # input:256*14*14, output:256*7*7
        self.max_pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        # input:256*7*7, output:384*7*7
        self.conv3 = nn.Sequential(
            nn.Conv2d(256, 384, kernel_size=3, padding=1),
            nn.ReLU(True)
        )
        # input:384*7*7, output:384*7*7
        self.conv4 = nn.Sequential(
            nn.Conv2d(384, 384, kernel_size=3, padding=1),  # 384*7*7
            nn.ReLU(True)
        )
        # input:384*7*7, output:256*7*7
        self.conv5 = nn.Sequential(
            nn.Conv2d(384, 256, kernel_size=3, padding=1),  # 256*7*7
            nn.ReLU(True)
        )
        # input:256*7*7, output:256*6*6
        self.max_pool3 = nn.MaxPool2d(kernel_size=2, stride=1)
        # input:256*6*6, output:9216
        self.flaten1 = nn.Flatten()
        # input:9216, output:4608
        self.fc1 = nn.Sequential(
            nn.Linear(9216, 4608),
            nn.ReLU(True),
            nn.Dropout(p=0.5)
        )
        # input:4608, output:4608
        self.fc2 = nn.Sequential(
            nn.Linear(4608, 4608),
            nn.ReLU(True),
            nn.Dropout(p=0.5)
        )
        # input:4608, output:10
        self.fc3 = nn.Linear(4608, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = self.max_pool1(x)
        x = self.conv2(x)
        x = self.max_pool2(x)
        x = self.conv3(x)
        x = self.conv4(x)
        x = self.conv5(x)
        x = self.max_pool3(x)
        x = self.flaten1(x)
        x = self.fc1(x)
        x = self.fc2(x)
        x = self.fc3(x)
        return x
