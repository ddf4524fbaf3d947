// The npu path on the libtorch_npu route (a torch_npu built for C++), on the stand-in.
import { npuSuite } from './helpers/suite';

npuSuite('libtorch_npu');
