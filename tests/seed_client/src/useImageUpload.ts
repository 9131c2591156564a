// useImageUpload.ts
import { ChangeEvent, Dispatch, SetStateAction, useState } from 'react';
import { getPresignedUrl, putImageToS3 } from './api';

// 파일의 확장자를 가져옵니다. (매우 러프하게...)
const getFileExtension = (file: File) => {
  const { name } = file;
  return name.split('.')[1];
};

// 업로드 하는 비동기 로직을 구현합니다.)
const handleUpload = async (
  file: File,
  setFileNameList: Dispatch<SetStateAction<string[]>>
) => {
  // 1. extension을 찾아옵니다.
  const extension = getFileExtension(file);
  // 2. presigned URL을 발급받습니다.
  const presignedBody = await getPresignedUrl(extension);
  try {
    // 3. 받아온 presigned URL을 통해 S3에 업로드합니다.
    await putImageToS3(presignedBody.presignedUrl, file, extension);
    const url = new URL(presignedBody.presignedUrl);
    // 업로드하고 파일명으로 이미지 조회가 되는지 확인하기 위한 로직
    const fileName = url.pathname.slice(1);
    setFileNameList((prev) => [...prev, fileName]);
  } catch (e) {
    alert('이미지 업로드에 실패하였습니다. 잠시 후 다시 시도 해보세요.');
  }
};

const useImageUpload = () => {
  const [fileNameList, setFileNameList] = useState<string[]>([]);

  const onUploadFile = (event: ChangeEvent<HTMLInputElement>) => {
    if (!event.target.files) return;
    const file = event.target.files[0];
    handleUpload(file, setFileNameList);
  };

  return { onUploadFile, fileNameList };
};

export default useImageUpload;

