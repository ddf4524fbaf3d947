// The README's predict example as a program: ts-node examples/predict.ts <checkpoint> <image>
import { Classifier } from 'torchbridge';

async function main(checkpoint = 'checkpoint.pt', image = 'cat.png') {
  const clf = await Classifier.load(checkpoint);
  const top = await clf.predict(image, { topk: 3 });  // [{ label: 'cat', index: 3, probability: 0.87 }, ...]
  console.log(top);
  clf.dispose();
}

main(process.argv[2], process.argv[3]).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
