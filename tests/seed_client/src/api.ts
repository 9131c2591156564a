// api.ts
import axios, { RawAxiosRequestHeaders } from 'axios';

export const imgUploadAxiosInstance = axios.create({
  baseURL: 'https://your-lambda-execute-url.com',
});

// MIME Type을 지정해줍니다.
const generateHeaderForPresignedUrl = (
  key: keyof RawAxiosRequestHeaders,
  extension: string
): RawAxiosRequestHeaders => {
  return {
    [key]: `application/${extension}`,
  };
};

// lambda를 호출해 presigned URL을 발급받습니다.
export const getPresignedUrl = async (extension: string) => {
  const response = await imgUploadAxiosInstance.get(
    `/your-lambdda-trigger-endpoint`,
    {
      headers: {
        ...generateHeaderForPresignedUrl('Content-Type', extension),
        'x-extension': extension,
      },
    }
  );
  return response.data as { presignedUrl: string };
};

// 발급받은 Presigned URL을 통해 PutObject를 수행합니다.
export const putImageToS3 = async (
  presignedUrl: string,
  file: File,
  extension: string
) => {
  const instance = axios.create();

  return await instance.put(presignedUrl, file, {
    headers: generateHeaderForPresignedUrl('Content-Type', extension),
  });
};

